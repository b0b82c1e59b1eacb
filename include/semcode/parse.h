/*
** semcode public API: parsing source files into entities.
**
** A parser turns the bytes of one file into a list of entities: functions,
** methods, classes, structs, interfaces, traits, enums and modules, each with
** its name, qualified name, signature, parameters, return type, doc comment,
** decorators, position, parent and cyclomatic complexity, plus line-window
** chunks for the code outside any entity (and for files with no grammar).
** Walking and parsing a whole tree (sc_parse_tree) is in walk.h.
**
** Thread safety: an sc_parser is used by one thread at a time (make one per
** worker). Results are immutable and may be read from any thread. The other
** functions are pure and thread safe.
*/
#ifndef SEMCODE_PARSE_H
#define SEMCODE_PARSE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Languages ==== */

typedef enum sc_lang {
    SC_LANG_UNKNOWN = 0, /* not detected: plain text chunks */
    SC_LANG_PYTHON,
    SC_LANG_JAVASCRIPT,
    SC_LANG_TYPESCRIPT,
    SC_LANG_TSX,
    SC_LANG_GO,
    SC_LANG_JAVA,
    SC_LANG_C,
    SC_LANG_CPP,
    SC_LANG_RUST,
    SC_LANG_RUBY,
    SC_LANG_PHP,
    SC_LANG_CSHARP,
    SC_LANG_BASH,
    SC_LANG_MARKDOWN, /* no grammar: chunks only (as are the ones below) */
    SC_LANG_YAML,
    SC_LANG_JSON,
    SC_LANG_TOML,
    SC_LANG_TEXT,
    SC_LANG_COUNT /* number of values, not a language */
} sc_lang;

/* Static lower-case name ("python", "cpp", "csharp", "text"); "unknown" for
** SC_LANG_UNKNOWN or out-of-range values. */
SC_API const char *sc_lang_name(sc_lang lang);
/* Language from its name as printed by sc_lang_name (also accepts common
** aliases: py, js, ts, c++, c#, cs, sh, rb, md, yml). SC_LANG_UNKNOWN if none. */
SC_API sc_lang sc_lang_from_name(const char *name);
/* Detect the language of a file from its path (extension or well-known file
** name) and, for files without a known extension, from a shebang in the
** first bytes `head` (may be NULL). SC_LANG_UNKNOWN when neither tells. */
SC_API sc_lang sc_lang_detect(const char *path, const char *head, size_t head_size);
/* True if this build has a tree-sitter grammar for lang (entities are
** extracted); false for chunk-only languages. */
SC_API bool sc_lang_has_grammar(sc_lang lang);

/* ==== Entities ==== */

typedef enum sc_entity_kind {
    SC_ENTITY_KIND_FUNCTION = 0,
    SC_ENTITY_KIND_METHOD,    /* a function defined inside a type or impl */
    SC_ENTITY_KIND_CLASS,
    SC_ENTITY_KIND_STRUCT,    /* also C unions */
    SC_ENTITY_KIND_INTERFACE,
    SC_ENTITY_KIND_TRAIT,
    SC_ENTITY_KIND_ENUM,
    SC_ENTITY_KIND_MODULE,    /* namespace, Rust mod, Ruby module */
    SC_ENTITY_KIND_CHUNK,     /* line window of code outside entities, or of a file with no grammar */
    SC_ENTITY_KIND_COUNT      /* number of values, not a kind */
} sc_entity_kind;

/* Static lower-case name of a kind ("function", "chunk"). */
SC_API const char *sc_entity_kind_name(sc_entity_kind kind);

/* One declared parameter. */
typedef struct sc_param {
    const char *name; /* as written, with sigils such as *args, &self, $x */
    const char *type; /* declared type as written, NULL if the language or code has none */
} sc_param;           /* name or type (or both) is non-NULL and non-empty */

/* One entity. Strings are NUL-terminated, owned by the sc_parse_result and
** valid until it is freed; optional strings are NULL when absent. Lines are
** 1-based and inclusive; bytes are 0-based, end exclusive. */
typedef struct sc_entity {
    sc_entity_kind kind;        /* what it is */
    const char *name;           /* simple name ("request"); for chunks "path:start-end" */
    const char *qualified_name; /* enclosing names joined ("Session.request", "http.(*Client).Do") */
    const char *signature;      /* declaration as written up to the body, NULL for chunks */
    const char *return_type;    /* declared return type, NULL if none */
    const char *doc;            /* doc comment / docstring with comment markers removed, NULL if none */
    const sc_param *params;     /* n_params parameters in order */
    uint32_t n_params;          /* length of params */
    const char *const *decorators; /* n_decorators decorators/annotations/attributes as written */
    uint32_t n_decorators;      /* length of decorators */
    uint32_t start_line;        /* first line (decorators included) */
    uint32_t end_line;          /* last line */
    uint64_t start_byte;        /* offset of the first byte in the file */
    uint64_t end_byte;          /* offset one past the last byte */
    uint64_t doc_start_byte;    /* byte range of the doc comment in the file (equal if none) */
    uint64_t doc_end_byte;      /* end of that range */
    int32_t parent;             /* index of the enclosing entity in the result, -1 if top level */
    uint32_t complexity;        /* cyclomatic complexity: 1 + decision points, nested entities excluded */
    const char *body;           /* source text of the entity, only with sc_parse_options.with_body */
} sc_entity;

/* Why a file produced nothing. */
typedef enum sc_skip_reason {
    SC_SKIP_NONE = 0,   /* parsed */
    SC_SKIP_EMPTY,      /* zero bytes or only white space */
    SC_SKIP_BINARY,     /* NUL bytes near the start */
    SC_SKIP_TOO_LARGE,  /* larger than max_file_size */
    SC_SKIP_MINIFIED,   /* average line longer than minified_line_length */
    SC_SKIP_GENERATED,  /* marked "generated"/"DO NOT EDIT" near the top, or a generated name */
    SC_SKIP_UNREADABLE, /* could not be read (permissions, vanished) */
    SC_SKIP_LANG,       /* excluded by a --lang filter */
    SC_SKIP_COUNT       /* number of values */
} sc_skip_reason;

/* Static name of a skip reason ("binary", "too_large"). */
SC_API const char *sc_skip_reason_name(sc_skip_reason r);

/* Everything extracted from one file. Entities appear in source order
** (a parent before its children), chunks after the entities. Owned by the
** caller, freed with sc_parse_result_free. */
typedef struct sc_parse_result {
    const char *path;        /* path as given (relative to the walked root for sc_parse_tree) */
    sc_lang lang;            /* detected or forced language */
    sc_skip_reason skipped;  /* SC_SKIP_NONE if the file was parsed */
    const sc_entity *entities; /* n_entities entities, then chunks */
    uint32_t n_entities;     /* length of entities (chunks included) */
    uint32_t n_errors;       /* ERROR and MISSING nodes of the error-recovering parse */
    uint64_t size;           /* file size in bytes */
    uint32_t n_lines;        /* number of lines */
    double parse_seconds;    /* time spent in tree-sitter and extraction */
} sc_parse_result;

/* Options of a parse; get defaults from sc_parse_options_default. */
typedef struct sc_parse_options {
    sc_lang lang;                  /* force this language; SC_LANG_UNKNOWN = detect */
    bool with_body;                /* fill sc_entity.body */
    bool with_chunks;              /* emit chunks for code outside entities (default true) */
    uint32_t chunk_lines;          /* lines per chunk window (default 40) */
    uint32_t chunk_overlap;        /* lines shared by consecutive windows (default 8) */
    uint32_t chunk_max_bytes;      /* a window longer than this is cut (default 8192) */
    uint32_t min_chunk_chars;      /* windows with fewer non-space bytes are dropped (default 8) */
    uint64_t max_file_size;        /* larger files are skipped (default 2 MiB) */
    uint32_t minified_line_length; /* files whose average line is longer are skipped (default 1000) */
    bool skip_generated;           /* skip files marked as generated (default true) */
    const char *go_import_path;    /* Go: import path of the file's package, prefixes qualified
                                      names ("net/http"); NULL = the package name. sc_parse_tree
                                      sets it from go.mod, or the directory under the root */
} sc_parse_options;

/* Default parse options. */
SC_API sc_parse_options sc_parse_options_default(void);

/* ==== Parser ==== */

typedef struct sc_parser sc_parser;

/* Create a parser (holds one tree-sitter parser per language, created
** lazily). Free with sc_parser_free. SC_NOMEM on allocation failure,
** SC_MISUSE when out is NULL; errmsg as in common.h ("Errors"). */
SC_API sc_status sc_parser_new(sc_parser **out, char **errmsg);
/* Free a parser. NULL is a no-op. */
SC_API void sc_parser_free(sc_parser *p);
/* Message of the last failure on p; borrowed until the next call on p. */
SC_API const char *sc_parser_errmsg(const sc_parser *p);

/* Parse `size` bytes of the file at `path` (used for detection and names;
** not read). Bad input never fails: syntax errors are counted, binary or
** oversized input gives a result with `skipped` set. Fails only with
** SC_NOMEM or SC_MISUSE. *out is owned by the caller on SC_OK. */
SC_API sc_status sc_parser_parse(sc_parser *p, const char *path, const void *src, size_t size,
                                 const sc_parse_options *opt, sc_parse_result **out);
/* Free a result. NULL is a no-op. */
SC_API void sc_parse_result_free(sc_parse_result *r);

/* The entity's source text (needs with_body) with its own doc comment or
** docstring cut out, and the line that held it when nothing else is on
** it: the code side of a (doc, code) training pair. Owned, free with
** sc_free; NULL if the entity has no body or on allocation failure. */
SC_API char *sc_entity_code_without_doc(const sc_entity *e);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_PARSE_H */
