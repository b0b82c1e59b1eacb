/*
** parse: the interface of the parsing module to the rest of semcode.
**
** The module's public API is include/semcode/parse.h (languages, entities,
** sc_parser). This header adds what other modules (pipeline/) need beyond
** it: the byte-level checks that decide whether a file is worth parsing,
** shared with the walker so both give the same skip reasons.
*/
#ifndef SC_PARSE_H
#define SC_PARSE_H

#include "semcode/parse.h"
#include "util/util.h"

/* Decide from the first bytes and the size whether a file must be skipped
** (binary, empty, too large, minified, generated) under opt. head holds the
** first head_size bytes of a file of total size `size` (whole file when
** head_size == size). Returns SC_SKIP_NONE when it should be parsed. */
sc_skip_reason parse_file_classify(const char *path, const char *head, size_t head_size,
                                   uint64_t size, const sc_parse_options *opt);

/* True if the path names a vendored or generated file by convention
** (*.min.js, *.pb.go, *_pb2.py, package-lock.json, ...). */
bool parse_path_is_generated(const char *path);

/* Make a result that only carries a skip reason (no entities); owned by
** the caller, freed with sc_parse_result_free. NULL on allocation failure. */
sc_parse_result *parse_result_new_skipped(const char *path, sc_lang lang, uint64_t size,
                                          sc_skip_reason why);

/* ==== Call sites and imports (calls.c; the call graph of src/repo/calls.c) ==== */

/* How a call names its callee. */
typedef enum parse_call_kind {
    PARSE_CALL_PLAIN = 0, /* f(x) */
    PARSE_CALL_METHOD,    /* recv.f(x), pkg.F(x), Type::f(x): receiver or qualifier present */
    PARSE_CALL_NEW,       /* new T(x) (JS, Java, C#, C++, PHP) */
} parse_call_kind;

/* One call site of a file. Strings live in the result's arena. */
typedef struct parse_call {
    const char *name;     /* callee's simple name as written ("join") */
    const char *receiver; /* text before the name, separators trimmed ("os.path", "self"), NULL for none */
    const char *recv_type; /* the receiver's type when the entity assigned it a construction
                              (x = new T(), x = T(), T x = ...), NULL when unknown */
    uint32_t line;        /* 1-based line of the call */
    int32_t caller;       /* index of the innermost entity around it, -1 at top level */
    uint8_t kind;         /* parse_call_kind */
} parse_call;

/* One imported name of a file. */
typedef struct parse_import {
    const char *local;  /* name bound in the file ("np", "join", "http"); "*" for a wildcard, "" for a C include */
    const char *module; /* what it comes from ("numpy", "os.path", "./util", "net/http", "a.b", "crate::x", "x.h") */
    const char *symbol; /* the name taken from module ("join", "default"), NULL when the module itself is bound */
    uint32_t line;      /* 1-based line */
} parse_import;

/* Extract call sites and imports too in this parser's next parses (off by
** default: only the indexing pipeline needs them). */
void parse_parser_set_calls(sc_parser *p, bool on);
/* Call sites and imports of a result (empty unless the parser had calls
** on); borrowed, valid until the result is freed. */
const parse_call *parse_result_calls(const sc_parse_result *r, uint32_t *n);
const parse_import *parse_result_imports(const sc_parse_result *r, uint32_t *n);

#endif /* SC_PARSE_H */
