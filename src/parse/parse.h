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

#endif /* SC_PARSE_H */
