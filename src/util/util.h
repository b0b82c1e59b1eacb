/*
** util: small helpers shared by every module (errors, hashing, strings,
** threads). Knows nothing of the other modules.
*/
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "semcode/common.h"

/* ==== Errors ==== */

/* Caller-owned error for internal calls that have no handle. */
typedef struct sc_err {
    sc_status code; /* SC_OK until something fails */
    char msg[512];  /* human-readable reason, names the field and value */
} sc_err;

/* Record a failure in err (NULL is ignored) and return code. */
sc_status sc_err_set(sc_err *err, sc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reset err to SC_OK. */
void sc_err_clear(sc_err *err);

/* Debug-only assertion for bugs (never for bad input). */
#ifdef NDEBUG
#define sc_assert(x) ((void)0)
#else
#include <assert.h>
#define sc_assert(x) assert(x)
#endif

/* ==== Logging ==== */

/* Hand a message to lg (NULL, or one with a NULL log, means the global
** logger; see sc_log_set_global). The message is formatted into at most
** 1,024 bytes. */
void util_log(const sc_logger *lg, sc_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ==== Hashing ==== */

/* 64-bit hash of bytes (deterministic across runs and machines). */
uint64_t util_hash64(const void *data, size_t n, uint64_t seed);
/* Mix a 64-bit integer (finaliser of splitmix64). */
uint64_t util_mix64(uint64_t x);

/* ==== Strings ==== */

/* Growable byte buffer, always NUL-terminated when len > 0. */
typedef struct util_buf {
    char *data;   /* owned bytes */
    size_t len;   /* bytes used (excluding the NUL) */
    size_t cap;   /* bytes allocated */
    bool oom;     /* an append failed: contents are truncated */
} util_buf;

void util_buf_append(util_buf *b, const void *p, size_t n);
void util_buf_puts(util_buf *b, const char *s);
void util_buf_printf(util_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void util_buf_free(util_buf *b);

/* ==== Growable arrays ==== */

/* Make the array *pp (pp is the address of the array pointer, e.g. &v for
** T *v) hold at least need elements of elem bytes. When need > *cap, the
** capacity doubles (starting from min_cap when *cap is 0) until it is at
** least need and the array is realloc'ed; otherwise nothing happens. False,
** with *pp and *cap untouched, when realloc fails or the new capacity (or its
** size in bytes) would overflow. elem and min_cap must be > 0.
** The check is inline (callers push in hot loops); the growth is not. */
bool util_grow_slow(void *pp, size_t *cap, size_t need, size_t elem, size_t min_cap);
static inline bool util_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t min_cap) {
    return need <= *cap || util_grow_slow(pp, cap, need, elem, min_cap);
}
/* The same for a uint32_t capacity (refused beyond UINT32_MAX elements). */
bool util_grow_u32_slow(void *pp, uint32_t *cap, size_t need, size_t elem, uint32_t min_cap);
static inline bool util_grow_u32(void *pp, uint32_t *cap, size_t need, size_t elem, uint32_t min_cap) {
    return need <= *cap || util_grow_u32_slow(pp, cap, need, elem, min_cap);
}

/* Length of the valid multi-byte UTF-8 sequence starting at s[0] (2..4) of
** the n bytes at s; 0 if invalid or not a multi-byte lead (an ASCII byte).
** Rejects overlongs, surrogates and code points above U+10FFFF. */
size_t util_utf8_len(const unsigned char *s, size_t n);

/* strdup that returns NULL on NULL input or allocation failure. */
char *util_strdup(const char *s);

/* mkdir -p: create path and every missing folder above it (mode 0755).
** 0 on success or when it already is a folder; -1 with errno set. */
int util_mkdir_p(const char *path);

/* The whole file at path (owned, NUL-terminated, length in *len), or NULL
** when it cannot be read or memory runs out. */
char *util_read_file(const char *path, size_t *len);

/* ==== Dates ==== */

/* Parse "YYYY-MM-DD", optionally followed by [T|t| ]HH:MM[:SS[.frac]] and a
** zone (Z, +HH:MM, +HHMM, +HH; none = UTC), into microseconds since the
** epoch: the RFC 3339 date-times of filters (store) and of records. False
** when s[0..len) is not such a date-time. */
bool util_parse_datetime(const char *s, size_t len, int64_t *us);

/* ==== Threads and time ==== */

/* Number of online cores (at least 1). */
uint32_t util_n_cores(void);
/* Monotonic time in seconds. */
double util_now(void);

/* Run fn(arg, ith, nth) on nth threads (the calling thread is one of them)
** and wait for all. fn slices its own work by (ith, nth). */
typedef void (*util_parallel_fn)(void *arg, uint32_t ith, uint32_t nth);
void util_parallel_run(util_parallel_fn fn, void *arg, uint32_t nth);

#endif /* SC_UTIL_H */
