/*
** semcode public API: common types shared by every layer.
**
** Status codes, point ids, memory release, logging and version numbers.
**
** Errors, one convention for every public function:
** - A fallible call returns an sc_status; outputs are written only on SC_OK.
** - A call that has no handle yet (every _open, _load, _new; one-shot runs
**   such as sc_parse_tree, sc_server_run, sc_repo_eval, sc_model_train,
**   sc_eval_pairs) takes a last parameter `char **errmsg`: NULL to ignore;
**   otherwise set to NULL on success and, on failure, to a message the
**   caller frees with sc_free (NULL when even that ran out of memory).
** - A call made on a handle keeps the message of its failure for the
**   handle's _errmsg function (a borrowed string, never NULL):
**   - a handle used by one thread at a time (sc_repo, sc_embedder,
**     sc_parser) keeps it on the handle, valid until the next call on it;
**   - a handle shared by threads (sc_db, sc_transformer) keeps it per
**     calling thread, like errno: sc_db_errmsg returns the calling thread's
**     last failure on any store, sc_transformer_errmsg on any model; they do
**     not consult their argument (it may be NULL), and the message is valid
**     until that thread's next call of the same module. Why: reader threads
**     share a store; a buffer on the handle would be overwritten by one
**     thread's failure while another reads it (a data race, and the wrong
**     message), and a table per (thread, handle) would cost a lock and
**     memory for no gain, since a caller reads the message right after the
**     call that failed, on the same thread.
** - Calls whose every failure the status says in full (SC_NOMEM,
**   SC_MISUSE, or SC_INVALID of their one text argument) keep no message:
**   the value parsers (sc_point_id_parse_uuid, sc_distance_parse,
**   sc_field_type_parse), sc_fuse and sc_model_embed.
** - Messages name the thing that was wrong (path, field, value).
** Messages that are no failure of the call (a graph rebuilt, a cache moved
** aside) go to a logger (sc_logger below), never to stderr.
**
** Thread safety: everything in this header is pure and thread safe.
*/
#ifndef SEMCODE_COMMON_H
#define SEMCODE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SC_API __attribute__((visibility("default")))
#else
#define SC_API
#endif

/* ==== Versions ==== */

#define SC_VERSION_STRING "0.1.0"
#define SC_ABI_VERSION 12 /* bumped on any incompatible change of include/ */

/* ==== Status codes ==== */

typedef enum sc_status {
    SC_OK = 0,          /* success */
    SC_ERROR,           /* generic failure (internal, see message) */
    SC_NOMEM,           /* an allocation failed */
    SC_IOERR,           /* the file system or SQLite reported an I/O error */
    SC_CORRUPT,         /* on-disk data failed a check */
    SC_NOTFOUND,        /* collection, vector name or point does not exist */
    SC_INVALID,         /* bad input from the caller: message names the field */
    SC_MISUSE,          /* API used wrongly (NULL handle, call out of order) */
    SC_BUSY,            /* the store is locked by another process */
    SC_UNSUPPORTED,     /* valid request that this build does not implement */
    SC_INTERRUPTED,     /* a cancellation callback asked to stop */
    SC_EXISTS,          /* the thing to create already exists */
} sc_status;

/* Static, never NULL, name of a status ("SC_INVALID" reads "invalid input"). */
SC_API const char *sc_status_str(sc_status s);

/* ==== Point ids ==== */

typedef enum sc_id_kind {
    SC_ID_KIND_NUM = 0,  /* unsigned 64-bit integer */
    SC_ID_KIND_UUID = 1, /* RFC 4122 UUID, 16 bytes */
} sc_id_kind;

/* A point id: either a number or a UUID. Numbers sort before UUIDs; numbers
** by value, UUIDs by their bytes. */
typedef struct sc_point_id {
    sc_id_kind kind;  /* which of the two fields below is meaningful */
    uint64_t num;     /* the id when kind == SC_ID_KIND_NUM */
    uint8_t uuid[16]; /* the id when kind == SC_ID_KIND_UUID */
} sc_point_id;

/* Numeric id constructor. */
SC_API sc_point_id sc_point_id_num(uint64_t n);
/* Parse a UUID string "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (also accepts the
** 32-digit form without dashes and upper case). SC_INVALID if malformed. */
SC_API sc_status sc_point_id_parse_uuid(const char *s, sc_point_id *out);
/* Write the canonical text of an id (decimal or lower-case dashed UUID) into
** buf (at least 37 bytes). Returns buf. */
SC_API char *sc_point_id_format(const sc_point_id *id, char *buf, size_t buf_size);
/* Total order of ids: <0, 0, >0. */
SC_API int sc_point_id_cmp(const sc_point_id *a, const sc_point_id *b);

/* ==== Logging ==== */

/* Severity of a library message. */
typedef enum sc_log_level {
    SC_LOG_LEVEL_DEBUG = 0, /* detail for developers */
    SC_LOG_LEVEL_INFO = 1,  /* something worth knowing happened (a recovery, a rebuild) */
    SC_LOG_LEVEL_WARN = 2,  /* degraded but working: a graph that could not be saved, a cache left out */
    SC_LOG_LEVEL_ERROR = 3, /* an operation failed and nobody else will report it */
} sc_log_level;

/* Where the library's messages go: a callback and its payload (as
** tree-sitter's TSLogger). The library never writes to stdout or stderr
** itself; it hands every message to a logger. msg is one line without a
** trailing newline or program prefix, borrowed for the call. The callback
** may be called from any thread the library runs on, concurrently, so it
** must be thread safe. A logger whose log is NULL means "the default". */
typedef struct sc_logger {
    void *payload;                                                      /* passed back to log */
    void (*log)(void *payload, sc_log_level level, const char *msg);    /* NULL = default */
} sc_logger;

/* Set the global logger, used by everything that has no logger of its own
** (handles opened without one, the embedding cache, the parser). NULL or a
** logger with a NULL log restores the default, which writes
** "semcode: <msg>" lines to stderr. Thread safe. */
SC_API void sc_log_set_global(const sc_logger *logger);
/* Static lower-case name of a level ("warn"). */
SC_API const char *sc_log_level_name(sc_log_level level);

/* ==== Text ==== */

/* Length in bytes (1 to 4) of the well-formed UTF-8 character at s[0..n),
** or 0 when none starts there: a stray continuation or invalid lead byte, a
** truncated sequence, an overlong form, a surrogate (U+D800..U+DFFF) or a
** value past U+10FFFF (also 0 for n == 0 or s NULL). Reads at most
** min(n, 4) bytes. The library's own UTF-8 checks all use this rule. */
SC_API size_t sc_utf8_char_len(const char *s, size_t n);

/* ==== Memory ==== */

/* Free memory the library returned as owned (strings, arrays). NULL is a no-op. */
SC_API void sc_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_COMMON_H */
